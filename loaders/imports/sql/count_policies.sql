SELECT inserted, updated FROM import_counts
