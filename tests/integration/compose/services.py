"""Service commands the compose tests share."""

# A service that runs until stopped and ends at once on SIGTERM (a shell as PID 1 ignores
# TERM without a trap, so `stop` would wait for its timeout).
SERVE = "sh -c 'trap \"exit 0\" TERM; sleep 300 & wait'"
