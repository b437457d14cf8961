"""What reads the graph and the runs for people: recommend, query, visualize, report."""
