"""Search spaces: the protocol (:mod:`spaces.protocol`) and the built-in spaces."""
