"""What pages draw: the LF editor and preview, the LF list, the results block, the data preview."""
