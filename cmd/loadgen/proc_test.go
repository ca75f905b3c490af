package main

import (
	"net"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStat(t *testing.T) {
	// The fields after the name: state ppid pgrp session tty_nr tpgid
	// flags minflt cminflt majflt cmajflt utime stime cutime ...
	const tail = " S 1 1234 1234 0 -1 4194560 900 0 3 0 1510 327 7 8 20 0 12 0 5000 1000000 2000\n"
	tests := []struct {
		name       string
		stat       string
		user, sys  int64
		wantErrSub string
	}{
		{"plain", "1234 (gateway)" + tail, 1510, 327, ""},
		{"spaces in the name", "1234 (my gate way)" + tail, 1510, 327, ""},
		{"parentheses in the name", "1234 (a) b (c))" + tail, 1510, 327, ""},
		{"a name that looks like fields", "1234 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13)" + tail, 1510, 327, ""},
		{"no name", "1234 gateway S 1 2", 0, 0, "no ')'"},
		{"cut short", "1234 (gateway) S 1 1234 1234 0 -1 4194560 900 0 3 0 1510", 0, 0, "fields after the command name"},
		{"not a number", "1234 (gateway) S 1 1234 1234 0 -1 4194560 900 0 3 0 x 327", 0, 0, "utime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, sys, err := parseStat(tt.stat)
			if tt.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSub) {
					t.Errorf("parseStat(%q) = %d, %d, %v, want an error containing %q", tt.stat, user, sys, err, tt.wantErrSub)
				}
				return
			}
			if err != nil || user != tt.user || sys != tt.sys {
				t.Errorf("parseStat(%q) = %d, %d, %v, want %d, %d, nil", tt.stat, user, sys, err, tt.user, tt.sys)
			}
		})
	}
}

func TestProcCPUSelf(t *testing.T) {
	byPID, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatalf("procCPU(own pid): %v", err)
	}
	self, err := procCPU(0)
	if err != nil {
		t.Fatalf("procCPU(0): %v", err)
	}
	if self < byPID {
		t.Errorf("procCPU(0) = %v after procCPU(own pid) = %v: CPU time went back", self, byPID)
	}
	if self%tick != 0 {
		t.Errorf("procCPU(0) = %v, want a whole number of %v ticks", self, tick)
	}
}

func TestListenInodes(t *testing.T) {
	// Port 18291 is 0x4773; 8080 is 0x1F90.
	const tcp = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:4773 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 51234 1 0000000000000000 100 0 0 10 0
   1: 0100007F:4773 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000  1000        0 51299 1 0000000000000000 20 4 30 10 -1
   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
   3: 0100007F:4774 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 888 1 0000000000000000 100 0 0 10 0
`
	const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:4773 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 60001 1 0000000000000000 100 0 0 10 0
`
	tests := []struct {
		name string
		in   string
		port int
		want []uint64
	}{
		{"listening, not the connection", tcp, 18291, []uint64{51234}},
		{"any address", tcp, 8080, []uint64{777}},
		{"no listener", tcp, 9999, nil},
		{"ipv6", tcp6, 18291, []uint64{60001}},
		{"header only", "  sl  local_address rem_address   st\n", 18291, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := listenInodes(strings.NewReader(tt.in), tt.port)
			if err != nil {
				t.Fatalf("listenInodes: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("listenInodes(port %d) mismatch (-want +got):\n%s", tt.port, diff)
			}
		})
	}
}

func TestSocketInode(t *testing.T) {
	for _, tt := range []struct {
		link string
		want uint64
		ok   bool
	}{
		{"socket:[51234]", 51234, true},
		{"pipe:[51234]", 0, false},
		{"/dev/null", 0, false},
		{"socket:[x]", 0, false},
		{"socket:[51234", 0, false},
	} {
		if got, ok := socketInode(tt.link); got != tt.want || ok != tt.ok {
			t.Errorf("socketInode(%q) = %d, %v, want %d, %v", tt.link, got, ok, tt.want, tt.ok)
		}
	}
}

// TestListenerPID finds the test process itself behind a port it listens on.
func TestListenerPID(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if got, err := listenerPID(port); err != nil || got != os.Getpid() {
		t.Errorf("listenerPID(%d) = %d, %v, want %d (this test)", port, got, err, os.Getpid())
	}
	ln.Close()
	if got, err := listenerPID(port); err == nil {
		t.Errorf("listenerPID(%d) after close = %d, want an error", port, got)
	}
}
