// The smallest statement: checks a session can run one (e.g. that the server accepts the impersonation).
RETURN 1 AS ok
