// The reusable browser client.
