"""`python -m webmap …` is the `riskmap` command (how `riskmap serve` starts its workers)."""

if __name__ == "__main__":
    from webmap.cli import run

    run()
