"""Sweeps over teacher x granularity x format x student grids, and the reports that compare their runs."""
