"""Small shared tools: working-day arithmetic, identifier validators, hash chains."""
