"""Reports: the queries behind the digest (and the analytics that build on them)."""
