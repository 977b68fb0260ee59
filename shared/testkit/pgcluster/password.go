package pgcluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// hbaConf allows only password (scram-sha-256) connections over loopback
// TCP; the cluster has no Unix socket.
const hbaConf = `# Written by pgcluster: loopback TCP with a password, nothing else.
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
`

// requirePassword makes the cluster in dir ask for the password kept in
// file, generating and setting one when the file is missing (or the cluster
// was just created), and returns it.
func requirePassword(ctx context.Context, bin, dir, file string, fresh bool, cred *syscall.Credential) (string, error) {
	b, err := os.ReadFile(file)
	password := strings.TrimSpace(string(b))
	switch {
	case errors.Is(err, fs.ErrNotExist) || (err == nil && password == ""):
		buf := make([]byte, 24)
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		password = hex.EncodeToString(buf)
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
			return "", err
		}
		fresh = true
	case err != nil:
		return "", fmt.Errorf("password file: %w", err)
	}
	if fresh {
		// Single-user mode sets the password before the server listens.
		// The password is hex, so it needs no quoting.
		sql := strings.NewReader("ALTER ROLE postgres PASSWORD '" + password + "';\n")
		if err := runWithInput(ctx, cred, nil, sql, filepath.Join(bin, "postgres"), "--single", "-D", dir, "postgres"); err != nil {
			return "", fmt.Errorf("set the cluster's password: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "pg_hba.conf"), []byte(hbaConf), 0o600); err != nil {
		return "", err
	}
	return password, nil
}
