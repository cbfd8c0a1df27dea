"""Where a batch of calls is transcribed and scored: here (the local loop of
`qa_audit.cli.score.each_transcript`) or on a Ray cluster (`ray_engine`)."""
