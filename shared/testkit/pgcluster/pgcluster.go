// Package pgcluster starts a private, throwaway PostgreSQL cluster from the
// machine's PostgreSQL server binaries. Tests and the local runner use it; it
// never touches the machine's own cluster.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todoevents/todo/shared/testkit/maven"
)

// Cluster is a running postgres server owned by this process.
type Cluster struct {
	Dir      string
	Port     int
	password string
	bin      string
	cred     *syscall.Credential
	opts     Options
	cmd      *exec.Cmd
	done     chan struct{} // closed once the server exited, with exitErr
	exitErr  error
}

// Options tune Start. The zero value starts a cluster in a new temporary
// directory on a free loopback port.
type Options struct {
	// Dir is the data directory; created if missing, reused if it already
	// holds a cluster. Empty means a new temporary directory.
	Dir string
	// Port to listen on; 0 picks a free one.
	Port int
	// Log receives the server's output; nil discards it.
	Log *os.File
	// Source of the server binaries: SourceAuto, SourceSystem or
	// SourceDownload; empty reads PG_SOURCE (default auto).
	Source string
	// Durable keeps PostgreSQL's durability defaults (fsync, synchronous
	// commit, full-page writes). Without it they are off, which only a
	// throwaway cluster may afford.
	Durable bool
	// PasswordFile, when set, makes the cluster require a password
	// (scram-sha-256) instead of trusting every local connection. The file
	// holds the password; a new random one is written when it is missing.
	PasswordFile string
	// NoLogicalDecoding runs the server with wal_level=replica, as a
	// managed database may: no logical replication slots. By default it
	// runs with wal_level=logical (the outbox relay streams).
	NoLogicalDecoding bool
}

// URL is the connection string for database name.
func (c *Cluster) URL(database string) string {
	user := "postgres"
	if c.password != "" {
		user += ":" + c.password
	}
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", user, c.Port, database)
}

// Start initialises (when needed) and starts a cluster, waiting until it
// accepts connections.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	bin, err := binDir(ctx, opts.Source, cred)
	if err != nil {
		return nil, err
	}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "pgcluster-"); err != nil {
			return nil, err
		}
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	if err := prepareDir(dir, cred); err != nil {
		return nil, err
	}
	fresh := false
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
		args := []string{"-D", dir, "-A", "trust", "-U", "postgres", "-E", "UTF8"}
		if !opts.Durable {
			args = append(args, "--no-sync")
		}
		if err := run(ctx, cred, opts.Log, filepath.Join(bin, "initdb"), args...); err != nil {
			return nil, fmt.Errorf("initdb: %w", err)
		}
		fresh = true
	}
	password := ""
	if opts.PasswordFile != "" {
		if password, err = requirePassword(ctx, bin, dir, opts.PasswordFile, fresh, cred); err != nil {
			return nil, err
		}
	}
	port := opts.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	args := []string{"-D", dir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=200",
		// One slot per database with a streaming relay: tests make many.
		"-c", "wal_level=logical", "-c", "max_replication_slots=100", "-c", "max_wal_senders=110"}
	if opts.NoLogicalDecoding {
		args = append(args, "-c", "wal_level=replica")
	}
	if !opts.Durable {
		// With commits not waiting for the log's flush, the WAL writer
		// flushes every wal_writer_delay (200 ms by default), and logical
		// decoding reads only flushed WAL: a short delay keeps the outbox
		// stream as prompt as on a durable server, which flushes at commit.
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "wal_writer_delay=5ms")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.SysProcAttr = serverProcAttr(cred)
	if opts.Log != nil {
		cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	opts.Dir, opts.Port = dir, port
	c := &Cluster{Dir: dir, Port: port, password: password, bin: bin, cred: cred, opts: opts, cmd: cmd, done: make(chan struct{})}
	go func() { c.exitErr = cmd.Wait(); close(c.done) }()
	if err := c.waitReady(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// CreateDatabase creates database name (an identifier of letters, digits and
// underscores).
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// StartStandby copies c into the new data directory dir with pg_basebackup
// and starts the copy as a hot standby streaming c's write-ahead log. With
// synchronous, c then acknowledges a commit only once the standby has
// flushed it (synchronous_standby_names), so a promoted standby has every
// acknowledged write; that needs a Durable c (the throwaway settings turn
// synchronous_commit off).
func (c *Cluster) StartStandby(ctx context.Context, dir string, synchronous bool) (*Cluster, error) {
	if synchronous && !c.opts.Durable {
		return nil, errors.New("a synchronous standby needs a Durable primary")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := prepareDir(dir, c.cred); err != nil {
		return nil, err
	}
	if err := run(ctx, c.cred, c.opts.Log, filepath.Join(c.bin, "pg_basebackup"), "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port),
		"-U", "postgres", "-D", dir, "-R", "-X", "stream", "-c", "fast"); err != nil {
		return nil, fmt.Errorf("pg_basebackup: %w", err)
	}
	standby, err := Start(ctx, Options{Dir: dir, Log: c.opts.Log, Source: c.opts.Source, Durable: c.opts.Durable,
		NoLogicalDecoding: c.opts.NoLogicalDecoding})
	if err != nil {
		return nil, err
	}
	if !synchronous {
		return standby, nil
	}
	// By name: '*' would also take the outbox relay's logical replication
	// connection as a synchronous standby. A standby's walreceiver connects
	// with application_name walreceiver (no cluster_name is set).
	if err := c.exec(ctx, `ALTER SYSTEM SET synchronous_standby_names = 'walreceiver'`, `SELECT pg_reload_conf()`); err != nil {
		standby.Stop()
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			var n int
			err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'`).Scan(&n)
			_ = conn.Close(ctx)
			if err == nil && n > 0 {
				return standby, nil
			}
		}
		if time.Now().After(deadline) {
			standby.Stop()
			return nil, fmt.Errorf("the standby did not become synchronous within 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Promote makes a standby the primary (pg_promote, waiting until it is).
func (c *Cluster) Promote(ctx context.Context) error {
	return c.exec(ctx, `SELECT pg_promote(true, 60)`)
}

// exec runs statements on the postgres database.
func (c *Cluster) exec(ctx context.Context, statements ...string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, sql := range statements {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
	}
	return nil
}

// Kill ends the server and every backend at once (SIGKILL to its process
// group), as a crash of its machine would.
func (c *Cluster) Kill() {
	if c.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
}

// Stop shuts the server down (fast mode) and waits for it to exit.
func (c *Cluster) Stop() {
	if c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// Remove stops the server and deletes its data directory.
func (c *Cluster) Remove() {
	c.Stop()
	_ = os.RemoveAll(c.Dir)
}

func (c *Cluster) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-c.done:
			return fmt.Errorf("postgres exited during start-up: %v", c.exitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after 30s: %w", err)
		}
	}
}

// Sources of the server binaries (Options.Source, or PG_SOURCE).
const (
	SourceAuto     = "auto"     // PG_BIN, else the system's, else downloaded
	SourceSystem   = "system"   // PG_BIN or the system's only
	SourceDownload = "download" // always the downloaded distribution
)

// binDir finds the server binaries: $PG_BIN, else the newest
// /usr/lib/postgresql/*/bin, else the directory of initdb on $PATH, else the
// PostgreSQL distribution from the Maven repository, downloaded once into
// the user's cache (PG_VERSION, default DefaultVersion).
func binDir(ctx context.Context, source string, cred *syscall.Credential) (string, error) {
	if source == "" {
		source = os.Getenv("PG_SOURCE")
	}
	switch source {
	case "", SourceAuto, SourceSystem:
		if d := systemBinDir(); d != "" {
			return d, nil
		}
		if source == SourceSystem {
			return "", errors.New("PostgreSQL server binaries not found: install postgresql, set PG_BIN, or unset PG_SOURCE to download them")
		}
	case SourceDownload:
	default:
		return "", fmt.Errorf("PG_SOURCE: %q is not auto, system or download", source)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	version := os.Getenv("PG_VERSION")
	if version == "" {
		version = DefaultVersion
	}
	bin, err := Install(ctx, maven.Default(), cache, version)
	if err != nil {
		return "", err
	}
	return bin, reachable(bin, cred)
}

func systemBinDir() string {
	if d := os.Getenv("PG_BIN"); d != "" {
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

func versionOf(binPath string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binPath)))
	return v
}

// credential returns the postgres user's identity when running as root
// (initdb and postgres refuse to run as root), else nil.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a 'postgres' user to own the cluster: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func prepareDir(dir string, cred *syscall.Credential) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if cred == nil {
		return nil
	}
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		return err
	}
	return reachable(filepath.Dir(dir), cred)
}

// reachable lets the server user (cred, when running as root) reach dir:
// every directory on the way gets search permission for others.
func reachable(dir string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	for p := dir; p != "/" && p != "."; p = filepath.Dir(p) {
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, info.Mode().Perm()|0o001); err != nil {
				return err
			}
		}
	}
	return nil
}

func run(ctx context.Context, cred *syscall.Credential, log *os.File, name string, args ...string) error {
	return runWithInput(ctx, cred, log, nil, name, args...)
}

func runWithInput(ctx context.Context, cred *syscall.Credential, log *os.File, stdin io.Reader, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = "/"
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if log != nil {
		_, _ = log.Write(out)
	}
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// FreePort returns a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
