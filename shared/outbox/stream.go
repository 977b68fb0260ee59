package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/todoevents/todo/shared/backoff"
)

// The streaming relay. Instead of polling the table and stamping each row
// published, the active relay reads the outbox's inserts from PostgreSQL's
// write-ahead log through a logical replication slot (pgoutput, the
// todo_outbox publication), in commit order, and publishes them as the
// polling relay does. The slot's confirmed position moves only past
// transactions whose every event the broker acknowledged (or that were set
// aside for good), so a relay that dies anywhere starts again from there:
// duplicates, dropped by id downstream, never a gap. Rows stay in the table
// for the fallback and are deleted after OUTBOX_RETENTION by time.
//
// Order: the log gives transactions in commit order, and Enqueue's per-key
// locks make a key's seq order its commit order, so both relays publish a
// user's events in the order they were committed.

const (
	// publication is the outbox's publication (migration 00017).
	publication = "todo_outbox"
	// catchUpMargin is how far before the last acknowledged commit a relay
	// whose slot was lost publishes the table again: rows carry their
	// transaction's start time, and no transaction writing the outbox
	// stays open this long.
	catchUpMargin = 10 * time.Minute
	// statusEvery is how often the relay tells the server how far it got,
	// and saves its position (when it moved).
	statusEvery = 250 * time.Millisecond
)

// errCannotStream says why this database does not let the relay stream.
type errCannotStream struct{ why string }

func (e errCannotStream) Error() string { return e.why }

// txn is one committed transaction's outbox rows, as the log gave them,
// or a part of a large one's (part: more of its rows follow; the
// transaction counts as published only with its last part).
type txn struct {
	rows   []row
	part   bool
	end    pglogrepl.LSN // the end of its commit record
	commit time.Time
}

// resumeSQL is the creation time from which outbox rows may not have been
// published, for slot $2: a catch-up a new slot still owes, else a margin
// before the last commit the stream had acknowledged, else (no stream yet)
// the beginning.
var resumeSQL = fmt.Sprintf(`COALESCE((SELECT COALESCE(catch_up_from, commit_time - interval '%d seconds')
	FROM outbox_stream WHERE slot = $2), '-infinity')`, int(catchUpMargin.Seconds()))

// slotSQL is the replication slot of the outbox of the connection's
// database: $1 when set, else one named after the database (slot names
// are the server's: lower-case letters, digits and _, at most 63).
const slotSQL = `COALESCE(NULLIF($1, ''),
	left('todo_outbox_' || regexp_replace(lower(current_database()), '[^a-z0-9]', '_', 'g'), 63))`

// canStream checks that the database lets this relay stream: wal_level
// logical, a role that may replicate, and the outbox's publication.
func canStream(ctx context.Context, conn *pgx.Conn) error {
	var level string
	var replicate, published bool
	err := conn.QueryRow(ctx, `SELECT current_setting('wal_level'),
		COALESCE((SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user), false),
		EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)`, publication).Scan(&level, &replicate, &published)
	switch {
	case err != nil:
		return dbError{err}
	case level != "logical":
		return errCannotStream{"the database has wal_level=" + level + ", not logical"}
	case !replicate:
		return errCannotStream{"the database role may not replicate (it needs REPLICATION)"}
	case !published:
		return errCannotStream{"the database has no publication " + publication + " (migration 00017 could not create it)"}
	}
	return nil
}

// prepareSlot makes sure slot exists and is usable, recreating one the
// server invalidated (it removed WAL the slot still needed). Before a slot
// is created it records that the new slot owes a catch-up: the rows the
// old one may not have delivered are published again from the table. A
// slot it creates comes with the snapshot of the database at the slot's
// start, returned by name while rc runs nothing else: read in it, the
// catch-up sees exactly what the stream will not.
func (r *Relay) prepareSlot(ctx context.Context, conn *pgx.Conn, rc *pgconn.PgConn, slot string) (snapshot string, err error) {
	var status, db string
	var ours bool
	err = conn.QueryRow(ctx, `SELECT COALESCE(wal_status, ''), COALESCE(database, ''), database IS NOT DISTINCT FROM current_database()
		FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&status, &db, &ours)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return "", dbError{err}
	case !ours:
		return "", errCannotStream{fmt.Sprintf("replication slot %s belongs to database %q (set OUTBOX_SLOT)", slot, db)}
	case status != "lost":
		return "", nil
	default:
		r.Log.Warn().Str("slot", slot).Msg("the outbox's replication slot was invalidated (the server removed WAL it " +
			"still needed, past max_slot_wal_keep_size); recreating it and publishing the table again from before the gap")
		if _, err := conn.Exec(ctx, `SELECT pg_drop_replication_slot($1)`, slot); err != nil {
			return "", dbError{err}
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO outbox_stream (slot, confirmed_lsn, commit_time, last_seq, catch_up_from)
		VALUES ($1, NULL, NULL, 0, '-infinity')
		ON CONFLICT (slot) DO UPDATE SET catch_up_from = COALESCE(outbox_stream.catch_up_from,
			outbox_stream.commit_time - $2::interval, '-infinity'), updated_at = now()`,
		slot, catchUpMargin); err != nil {
		return "", dbError{err}
	}
	created, err := pglogrepl.CreateReplicationSlot(ctx, rc, slot, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "53400" { // configuration_limit_exceeded
			return "", errCannotStream{"no free replication slot (max_replication_slots): " + pgErr.Message}
		}
		return "", dbError{err}
	}
	r.Log.Info().Str("slot", slot).Str("at", created.ConsistentPoint).Msg("created the outbox's replication slot")
	return created.SnapshotName, nil
}

// catchUp publishes, by polling, the rows a new slot owes (committed
// before it existed and perhaps never published), then clears the debt.
// In the slot's snapshot it reads only those; without one (a relay that
// stopped or failed to publish while catching up) it also sends rows the
// stream will send again.
func (r *Relay) catchUp(ctx context.Context, conn *pgx.Conn, slot, snapshot string) error {
	var owed bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM outbox_stream WHERE slot = $1 AND catch_up_from IS NOT NULL)`,
		slot).Scan(&owed); err != nil {
		return dbError{err}
	}
	if !owed {
		return nil
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return dbError{err}
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if snapshot != "" {
		if _, err := tx.Exec(ctx, `SET TRANSACTION SNAPSHOT '`+snapshot+`'`); err != nil {
			return dbError{err}
		}
	}
	for {
		// A publish that fails ends the transaction rather than keeping its
		// snapshot open through a broker outage (it would hold back vacuum
		// and every new slot on the server): the rows published so far stay
		// marked, the debt stays, and the next try pays the rest without
		// the snapshot (duplicates, dropped by id).
		start := time.Now()
		n, err := r.drain(ctx, tx, slot)
		if n > 0 {
			r.Pass.Observe(time.Since(start).Seconds())
		}
		if err != nil && !isDBError(err) {
			if cerr := tx.Commit(ctx); cerr != nil {
				return dbError{cerr}
			}
		}
		if err != nil {
			return err
		}
		if n < r.batch() {
			break
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE outbox_stream SET catch_up_from = NULL, updated_at = now() WHERE slot = $1`,
		slot); err != nil {
		return dbError{err}
	}
	if err := tx.Commit(ctx); err != nil {
		return dbError{err}
	}
	r.Log.Info().Str("slot", slot).Msg("caught up with the rows from before the slot")
	return nil
}

// replicationConn opens a replication connection to the relay's database.
func (r *Relay) replicationConn(ctx context.Context) (*pgconn.PgConn, error) {
	cfg := r.Pool.Config().ConnConfig.Config.Copy()
	cfg.RuntimeParams["replication"] = "database"
	cfg.RuntimeParams["application_name"] = "todo-outbox-relay"
	rc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, dbError{err}
	}
	return rc, nil
}

// stream relays from the log through rc while ctx lasts and the stream
// works.
func (r *Relay) stream(ctx context.Context, conn *pgx.Conn, rc *pgconn.PgConn, slot string) error {
	if err := pglogrepl.StartReplication(ctx, rc, slot, 0, pglogrepl.StartReplicationOptions{
		Mode: pglogrepl.LogicalReplication, PluginArgs: []string{"proto_version '1'", "publication_names '" + publication + "'"},
	}); err != nil {
		return dbError{err}
	}
	r.Log.Info().Str("slot", slot).Msg("outbox relay streaming from the write-ahead log")
	// Up to ten relay batches in one send: the producer pipelines them,
	// where one batch at a time would wait for each ack.
	s := &streamer{relay: r, slot: slot, rc: rc, txns: make(chan txn, 64), most: 10 * r.batch()}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	published := make(chan error, 1)
	go func() {
		err := s.publish(ctx, conn)
		cancel() // a publish that failed ends the read
		published <- err
	}()
	err := s.read(ctx)
	cancel()
	if perr := <-published; err == nil {
		err = perr
	}
	_ = s.report(context.WithoutCancel(ctx), true) // what was acknowledged last
	return err
}

// streamer is one stream session: read receives the log and owns the
// replication connection; publish sends the transactions read queued.
type streamer struct {
	relay *Relay
	slot  string
	rc    *pgconn.PgConn
	txns  chan txn
	most  int // events sent at once, and the size of a large transaction's parts

	mu sync.Mutex
	// waiting holds the commit times of the transactions queued for
	// publish and not acknowledged yet, oldest first.
	waiting []time.Time
	// acked is the log position up to which every event is published.
	acked pglogrepl.LSN
	// saved is the position publish reached that report has not saved.
	saved *position

	lastReport time.Time
	walEnd     pglogrepl.LSN // the server's position last heard (read's own)
}

// position is what outbox_stream keeps of a slot's progress.
type position struct {
	lsn    pglogrepl.LSN
	commit time.Time
	seq    int64
}

// read receives the log, assembles committed transactions of outbox rows
// and queues them for publish, answering the server's keepalives and
// reporting the acknowledged position four times a second.
func (s *streamer) read(ctx context.Context) error {
	relations := map[uint32]*pglogrepl.RelationMessage{}
	var open *txn
	for {
		if time.Since(s.lastReport) >= statusEvery {
			if err := s.report(ctx, open == nil); err != nil {
				return err
			}
		}
		wait, cancel := context.WithDeadline(ctx, s.lastReport.Add(statusEvery))
		msg, err := s.rc.ReceiveMessage(wait)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if pgconn.Timeout(err) {
				continue
			}
			return dbError{err}
		}
		var data []byte
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			data = m.Data
		case *pgproto3.ErrorResponse:
			return dbError{pgconn.ErrorResponseToPgError(m)}
		default:
			continue
		}
		if len(data) == 0 {
			continue
		}
		switch data[0] {
		case pglogrepl.PrimaryKeepaliveMessageByteID:
			k, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
			if err != nil {
				return err
			}
			s.walEnd = max(s.walEnd, k.ServerWALEnd)
			if k.ReplyRequested {
				s.lastReport = time.Time{}
			}
		case pglogrepl.XLogDataByteID:
			x, err := pglogrepl.ParseXLogData(data[1:])
			if err != nil {
				return err
			}
			if open, err = s.decode(ctx, x.WALData, relations, open); err != nil {
				return err
			}
		}
	}
}

// decode applies one pgoutput message to the transaction being assembled,
// queueing it at its commit.
func (s *streamer) decode(ctx context.Context, data []byte, relations map[uint32]*pglogrepl.RelationMessage,
	open *txn) (*txn, error) {
	m, err := pglogrepl.Parse(data)
	if err != nil {
		return open, fmt.Errorf("decode the log: %w", err)
	}
	switch m := m.(type) {
	case *pglogrepl.RelationMessage:
		relations[m.RelationID] = m
	case *pglogrepl.BeginMessage:
		return &txn{}, nil
	case *pglogrepl.InsertMessage:
		rel, ok := relations[m.RelationID]
		if !ok || open == nil {
			return open, fmt.Errorf("decode the log: an insert into unknown relation %d", m.RelationID)
		}
		rw, err := outboxRow(rel, m.Tuple)
		if err != nil {
			return open, err
		}
		open.rows = append(open.rows, rw)
		if len(open.rows) == s.most { // a large transaction: publish it as it comes
			if err := s.queue(ctx, txn{rows: open.rows, part: true}); err != nil {
				return open, err
			}
			open.rows, open.part = nil, true
		}
	case *pglogrepl.CommitMessage:
		if open == nil {
			return nil, nil
		}
		open.end, open.commit = m.TransactionEndLSN, m.CommitTime
		if len(open.rows) == 0 && !open.part {
			return nil, nil // nothing of ours; the next report moves past it when all is acknowledged
		}
		s.mu.Lock()
		s.waiting = append(s.waiting, open.commit)
		s.mu.Unlock()
		return nil, s.queue(ctx, txn{rows: open.rows, end: open.end, commit: open.commit})
	}
	return open, nil
}

// queue hands t to publish, keeping the server answered meanwhile when
// publish is behind (a broker outage), so it does not end the stream.
func (s *streamer) queue(ctx context.Context, t txn) error {
	for {
		select {
		case s.txns <- t:
			return nil
		case <-ctx.Done():
			return nil
		case <-time.After(statusEvery):
			if err := s.report(ctx, false); err != nil {
				return err
			}
		}
	}
}

// outboxRow reads an outbox row from the log's text form of its columns.
func outboxRow(rel *pglogrepl.RelationMessage, tuple *pglogrepl.TupleData) (row, error) {
	var rw row
	var seq bool
	for i, col := range rel.Columns {
		if i >= len(tuple.Columns) || tuple.Columns[i].DataType != pglogrepl.TupleDataTypeText {
			continue
		}
		v := tuple.Columns[i]
		switch col.Name {
		case "seq":
			n, err := v.Int64()
			if err != nil {
				return rw, fmt.Errorf("decode the log: seq: %w", err)
			}
			rw.seq, seq = n, true
		case "topic":
			rw.topic = string(v.Data)
		case "partition_key":
			rw.key = string(v.Data)
		case "event":
			rw.body = v.Data
		}
	}
	if rel.RelationName != "outbox" || !seq || rw.topic == "" {
		return rw, fmt.Errorf("decode the log: an insert into %s.%s that is no outbox row", rel.Namespace, rel.RelationName)
	}
	return rw, nil
}

// report tells the server the acknowledged position, moving it to the
// server's own position when nothing is read, queued or unacknowledged
// (idle: the slot then holds no WAL written by other tables), and saves
// the stream's position when it changed.
func (s *streamer) report(ctx context.Context, idle bool) error {
	s.mu.Lock()
	if idle && len(s.waiting) == 0 && s.walEnd > s.acked {
		s.acked = s.walEnd
	}
	lsn, saved, lag := s.acked, s.saved, 0.0
	s.saved = nil
	if len(s.waiting) > 0 {
		lag = time.Since(s.waiting[0]).Seconds()
	}
	s.mu.Unlock()
	s.lastReport = time.Now()
	if s.relay.SlotLag != nil {
		s.relay.SlotLag.Set(lag)
	}
	if lsn > 0 {
		if err := pglogrepl.SendStandbyStatusUpdate(ctx, s.rc, pglogrepl.StandbyStatusUpdate{WALWritePosition: lsn}); err != nil {
			return dbError{err}
		}
	}
	if saved != nil {
		if _, err := s.relay.Pool.Exec(ctx, `UPDATE outbox_stream SET confirmed_lsn = $2, commit_time = $3,
			last_seq = GREATEST(last_seq, $4), updated_at = now() WHERE slot = $1`,
			s.slot, saved.lsn.String(), saved.commit, saved.seq); err != nil {
			return dbError{err}
		}
	}
	return nil
}

// publish sends the queued transactions, as many at a time as are waiting
// (up to most events), retrying a batch until every event in it is
// acknowledged or set aside; then their position counts as acknowledged.
func (s *streamer) publish(ctx context.Context, conn *pgx.Conn) error {
	r := s.relay
	for {
		var batch []txn
		select {
		case t := <-s.txns:
			batch = append(batch, t)
		case <-ctx.Done():
			return nil
		}
		most := s.most
		rows := batch[0].rows
	more:
		for len(rows) < most {
			select {
			case t := <-s.txns:
				batch, rows = append(batch, t), append(rows, t.rows...)
			default:
				break more
			}
		}
		start := time.Now()
		var pub backoff.Backoff
		for len(rows) > 0 { // a large transaction goes in batches too
			_, done, err := r.send(ctx, conn, rows[:min(len(rows), most)])
			rows = rows[done:]
			if isDBError(err) {
				return err
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				r.Log.Warn().Err(err).Msg("publish failed; backing off")
				pub.Wait(ctx)
			}
		}
		r.Pass.Observe(time.Since(start).Seconds())
		var last *position
		done := 0 // whole transactions in the batch
		for _, t := range batch {
			if !t.part {
				done++
				last = &position{lsn: t.end, commit: t.commit}
			}
		}
		s.mu.Lock()
		if last != nil {
			for _, t := range batch {
				for _, rw := range t.rows {
					last.seq = max(last.seq, rw.seq)
				}
			}
			s.acked, s.saved = last.lsn, last
		}
		s.waiting = s.waiting[done:]
		s.mu.Unlock()
	}
}
