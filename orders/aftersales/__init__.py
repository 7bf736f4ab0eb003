"""After-sales: cases, their approval steps and chains (approvals.yaml), and the chain's cards."""
