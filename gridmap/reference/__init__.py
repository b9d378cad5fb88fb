"""Reference data a city owns: facility and event catalogues, division codes, the working calendar."""
