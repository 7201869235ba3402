//! vm-stdlib: the Lua 5.4 standard libraries, built only on `vm-core`'s
//! public API.
