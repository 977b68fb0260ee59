package recurrence

import "time"

// A civil day is a date of the proleptic Gregorian calendar as a count of
// days since 1970-01-01, so the rule engine steps through days, weeks and
// months with integer arithmetic (no time zone, no time.Time) and turns a
// day into an instant only once it is an occurrence.

// dayOf returns the civil day of a date (month and day may be out of range:
// they carry, as in time.Date).
func dayOf(y int, m time.Month, d int) int {
	// Howard Hinnant's days_from_civil, after normalising the month.
	y += (int(m) - 1) / 12
	mm := (int(m)-1)%12 + 1
	if mm <= 0 {
		mm += 12
		y--
	}
	if mm <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (mm + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// dateOf returns the date of a civil day.
func dateOf(z int) (int, time.Month, int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, time.Month(m), d
}

// weekdayOf is the day of the week of a civil day (1970-01-01 was a
// Thursday).
func weekdayOf(z int) time.Weekday { return time.Weekday(floorMod(z+4, 7)) }

// daysIn is the length of month m of year y.
func daysIn(y int, m time.Month) int { return dayOf(y, m+1, 1) - dayOf(y, m, 1) }

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int) int { return a - floorDiv(a, b)*b }

// gcd is the greatest common divisor of two positive numbers.
func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
