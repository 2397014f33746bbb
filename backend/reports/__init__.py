"""Performance indicators (prestatie-indicatoren): figures per period, regime, wijk, object kind and team."""
