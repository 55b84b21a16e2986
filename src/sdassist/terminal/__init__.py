"""The terminal face's pieces that are not argument parsing: tables, generated help, progress, hints."""
