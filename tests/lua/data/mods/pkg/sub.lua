return "pkg.sub"
