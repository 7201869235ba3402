return "pkg init"
