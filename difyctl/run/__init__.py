"""Running one app through the service API: `engine` (the run, the validated re-ask loop) and
`inputs` (KEY=VALUE parsing and the server's input rules, shared with broadcast)."""
