package contract

// TagCount is how many of a user's tasks carry a tag.
type TagCount struct {
	Tag   string `json:"tag"`
	Count int    `json:"count"`
}

// TagQuery narrows a tag list: to the tags that start with Prefix (in any
// letter case), at most Limit of them (0: all).
type TagQuery struct {
	Prefix string
	Limit  int
}
