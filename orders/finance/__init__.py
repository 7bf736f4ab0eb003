"""Finance: amount tracing per order, the finance export workbook, and settlement reconciliation."""
