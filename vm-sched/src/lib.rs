//! vm-sched: a `Task` trait and interchangeable schedulers (round-robin,
//! work-stealing, tick). Its core knows nothing of Lua; the `vm` feature adds
//! agents (isolated VMs with mailboxes). Scheduled for a later issue.
