"""Ask/tell searchers: rs, rea, reinforce, bohb, hb (registered in :mod:`nasearch.loading`)."""
