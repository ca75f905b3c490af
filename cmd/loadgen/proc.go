package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// What the load tool reads from Linux's /proc besides VmRSS (metrics.go):
// a process's CPU time from /proc/<pid>/stat, and which process listens on
// a TCP port, from /proc/net/tcp{,6} and the socket links in /proc/*/fd.

// userHZ is the unit of the times in /proc/<pid>/stat: clock ticks of
// USER_HZ, which Linux fixes at 100 per second whatever the kernel's HZ.
const userHZ = 100

// tick is one clock tick, the resolution of every CPU figure.
const tick = time.Second / userHZ

// procCPU returns the CPU time (user + system, all threads) that process
// pid has used so far; pid 0 means the load tool itself (/proc/self).
func procCPU(pid int) (time.Duration, error) {
	name := "self"
	if pid != 0 {
		name = strconv.Itoa(pid)
	}
	b, err := os.ReadFile("/proc/" + name + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read cpu of %s: %w", name, err)
	}
	user, sys, err := parseStat(string(b))
	if err != nil {
		return 0, fmt.Errorf("read cpu of %s: %w", name, err)
	}
	return time.Duration(user+sys) * tick, nil
}

// parseStat returns utime and stime (fields 14 and 15, in clock ticks) of
// a /proc/<pid>/stat line. Field 2, the command name in parentheses, may
// hold spaces and parentheses itself, so the fields are counted from the
// last ')'.
func parseStat(stat string) (utime, stime int64, err error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, 0, errors.New("parse stat: no ')' after the command name")
	}
	// After ')' come fields 3 (state), 4, ...: field k is rest[k-3].
	rest := strings.Fields(stat[end+1:])
	if len(rest) < 15-2 {
		return 0, 0, fmt.Errorf("parse stat: %d fields after the command name, want at least 13", len(rest))
	}
	if utime, err = strconv.ParseInt(rest[14-3], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("parse stat: utime: %w", err)
	}
	if stime, err = strconv.ParseInt(rest[15-3], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("parse stat: stime: %w", err)
	}
	return utime, stime, nil
}

// tcpListen is the TCP state LISTEN in /proc/net/tcp.
const tcpListen = "0A"

// listenInodes returns the socket inodes of /proc/net/tcp (or tcp6)
// content r that are listening on port, on any local address.
func listenInodes(r io.Reader, port int) ([]uint64, error) {
	var out []uint64
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first { // the header: "sl local_address rem_address st ..."
			first = false
			continue
		}
		// sl, local_address, rem_address, st, tx:rx, tr:when, retrnsmt, uid, timeout, inode
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != tcpListen {
			continue
		}
		i := strings.LastIndexByte(f[1], ':')
		if i < 0 {
			continue
		}
		p, err := strconv.ParseUint(f[1][i+1:], 16, 16)
		if err != nil || int(p) != port {
			continue
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil || inode == 0 {
			continue
		}
		out = append(out, inode)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read tcp table: %w", err)
	}
	return out, nil
}

// socketInode returns the inode of a /proc/<pid>/fd link to a socket,
// "socket:[12345]".
func socketInode(link string) (uint64, bool) {
	s, ok := strings.CutPrefix(link, "socket:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// listenerPID returns the pid of the one process listening on TCP port
// (IPv4 or IPv6) on this machine. It fails when no process is found (none
// listens, or it belongs to a user whose /proc/<pid>/fd the tool may not
// read) or more than one holds the listening socket.
func listenerPID(port int) (int, error) {
	var inodes []uint64
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6
		}
		if err != nil {
			return 0, fmt.Errorf("find listener: %w", err)
		}
		in, err := listenInodes(f, port)
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("find listener: %w", err)
		}
		inodes = append(inodes, in...)
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("find listener: nothing listens on TCP port %d", port)
	}
	pids, err := socketOwners(inodes)
	if err != nil {
		return 0, fmt.Errorf("find listener: %w", err)
	}
	switch len(pids) {
	case 0:
		return 0, fmt.Errorf("find listener: no readable process holds the socket listening on port %d", port)
	case 1:
		return pids[0], nil
	}
	return 0, fmt.Errorf("find listener: processes %v all hold the socket listening on port %d", pids, port)
}

// socketOwners returns the pids, sorted, of the processes whose open files
// include a socket with one of inodes. Processes whose fds it may not read
// are skipped.
func socketOwners(inodes []uint64) ([]int, error) {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue // not a process
		}
		dir := filepath.Join("/proc", p.Name(), "fd")
		fds, err := os.ReadDir(dir)
		if err != nil {
			continue // gone, or another user's
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if err != nil {
				continue
			}
			if n, ok := socketInode(link); ok && slices.Contains(inodes, n) {
				pids = append(pids, pid)
				break
			}
		}
	}
	slices.Sort(pids)
	return pids, nil
}
