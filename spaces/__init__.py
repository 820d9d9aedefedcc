"""Search spaces (installed as ``nasearch.spaces``): the protocol (:mod:`nasearch.spaces.protocol`) and the built-in spaces."""
