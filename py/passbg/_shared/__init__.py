"""Private helpers shared by every layer of passbg (no numeric or domain code)."""
