"""Domain CLI groups (`tousu menu`, `tousu org`, `tousu calendar`), registered in bot/cli.py."""
