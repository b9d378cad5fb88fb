"""Life-circle accessibility: the walking network, coverage, service areas and siting."""
