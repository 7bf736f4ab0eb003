"""The order domain: tables, workflow, timeline and services. Knows nothing of WeCom."""
