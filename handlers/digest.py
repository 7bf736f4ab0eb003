"""日报: the manager digest on demand."""
