//! Loading a chunk from a file (`lauxlib.c`'s `luaL_loadfilex` and its
//! reader `getF`), for `loadfile`, `dofile`, `require` and the `vm`
//! command.
//!
//! The file is read a piece at a time ([`FILE_PIECE`] bytes) into a chunk
//! loader (`Vm::load_start`), which parses the statements each piece
//! completes: memory holds the statement being read, not the file, and a
//! file that is no chunk (`/dev/zero`) fails at its first token. The
//! pieces go to the loader in steps of [`LOAD_STEP`] bytes, each paid for
//! as compiling it (one unit a byte), and a native loading a file pauses
//! between steps past the budget ([`steps`]), so a large file loads over
//! many slices. The header (a UTF-8 byte order mark, then a first line
//! starting with `#`) is skipped as the pieces come, however long that
//! line.

use std::io::Read;

use vm_core::{Args, Continuation, LuaError, LuaResult, Step, Value, Vm};

/// Loads the chunk in file `name` (standard input when `None`) at once,
/// as `luaL_loadfilex` does, for a caller that cannot pause (the `vm`
/// command loading its script). A native loads in steps instead
/// (`chunkfile::start`, `chunkfile::steps`).
///
/// # Errors
/// "cannot open NAME" or "cannot read NAME" with the system's reason, or
/// what loading gives (a syntax error, the mode refusing the chunk,
/// "not enough memory"), or the instruction limit.
pub fn load_file(
    vm: &mut Vm,
    name: Option<&str>,
    mode: &str,
    env: Option<Value>,
) -> LuaResult<Value> {
    let mut file = ChunkFile::open(vm, name)?;
    let loader = vm.load_start(&file.chunkname(), mode);
    let root = vm.root(loader)?;
    let loaded = feed_until(vm, &mut file, loader, env, |_| false);
    vm.unroot(root);
    match loaded? {
        Some(loaded) => loaded,
        None => Err(vm.error("the file's loading stopped")),
    }
}

/// Opens file `name` for a native and pushes its state (the file, then
/// the chunk loader) on the native's frame, where [`steps`] finds them
/// at `at`, the frame's top now (the native must have nothing above).
///
/// # Errors
/// "cannot open NAME".
pub(crate) fn start(vm: &mut Vm, name: Option<&str>, mode: &str) -> LuaResult<()> {
    let file = ChunkFile::open(vm, name)?;
    let loader = vm.load_start(&file.chunkname(), mode);
    let file = vm.new_userdata(Box::new(file));
    vm.push(file);
    vm.push(loader);
    Ok(())
}

/// What loading a file a native started came to.
pub(crate) enum Loaded {
    /// The budget is spent: return this step (a pause into `k`, which
    /// calls [`steps`] again).
    Paused(Step),
    /// The chunk's function, or why it failed (read or syntax errors,
    /// "not enough memory"). The file's state is off the frame.
    Done(Result<Value, LuaError>),
}

/// Goes on loading the file whose state [`start`] left at frame index
/// `at` of the native's frame (`args`), piece by piece, until the chunk
/// is loaded (with `env` as `load`'s) or the budget is spent; then pauses
/// into continuation `k` with `ctx`.
///
/// # Errors
/// The instruction limit; a failed load is [`Loaded::Done`] with its
/// error.
pub(crate) fn steps(
    vm: &mut Vm,
    args: Args,
    at: usize,
    env: Option<Value>,
    k: &'static Continuation,
    ctx: i64,
) -> LuaResult<Loaded> {
    let (ud, loader) = (vm.frame_get(args, at), vm.frame_get(args, at + 1));
    let file = vm.userdata_mut::<ChunkFile>(ud).map(std::mem::take);
    let Some(mut file) = file.filter(|f| !matches!(f.source, Source::Closed)) else {
        return Ok(Loaded::Done(Err(vm.error("the file was closed"))));
    };
    let Some(done) = feed_until(vm, &mut file, loader, env, Vm::budget_spent)? else {
        if let Some(f) = vm.userdata_mut::<ChunkFile>(ud) {
            *f = file;
        }
        return Ok(Loaded::Paused(vm.pausek(k, ctx)));
    };
    vm.frame_truncate(args, at);
    Ok(Loaded::Done(done))
}

/// Feeds `file` to `loader` until the chunk is loaded (with `env` as
/// `load`'s): its function or why it failed; or `None` as soon as `stop`
/// says so, between two steps.
///
/// # Errors
/// The instruction limit.
fn feed_until(
    vm: &mut Vm,
    file: &mut ChunkFile,
    loader: Value,
    env: Option<Value>,
    stop: impl Fn(&Vm) -> bool,
) -> LuaResult<Option<Result<Value, LuaError>>> {
    loop {
        match feed(vm, file, loader)? {
            Ok(Fed::More) if stop(vm) => return Ok(None),
            Ok(Fed::More) => {}
            Ok(Fed::End) => return Ok(Some(vm.load_finish(loader, env))),
            Err(e) => return Ok(Some(Err(e))),
        }
    }
}

/// Whether the file has more to give.
enum Fed {
    More,
    End,
}

/// Reads the next piece of `file` and adds it to `loader`, paid for: the
/// outer error is the payment's (the instruction limit), the inner one
/// the load's.
fn feed(vm: &mut Vm, file: &mut ChunkFile, loader: Value) -> LuaResult<Result<Fed, LuaError>> {
    if file.fed >= file.text.len() {
        match file.next_piece() {
            Ok(Piece::Text(piece)) => (file.text, file.fed) = (piece, 0),
            Ok(Piece::Skipped(n)) => {
                // Read, not compiled: paid as bytes scanned.
                vm.charge((n / 32) as u64)?;
                return Ok(Ok(Fed::More));
            }
            Ok(Piece::End) => return Ok(Ok(Fed::End)),
            Err(e) => return Ok(Err(file_error(vm, "read", file.name.as_deref(), &e))),
        }
    }
    let end = file.text.len().min(file.fed + LOAD_STEP);
    let step = &file.text[file.fed..end];
    file.fed = end;
    vm.charge(step.len() as u64)?;
    if !step.is_empty() {
        if let Err(e) = vm.load_piece(loader, step) {
            return Ok(Err(e));
        }
    }
    Ok(Ok(Fed::More))
}

/// The UTF-8 byte order mark a file may start with.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Bytes read from a file at a time.
const FILE_PIECE: usize = 64 * 1024;

/// Bytes of a chunk loaded in one step: compiling costs a unit a byte, so
/// a native loading a long chunk pauses at most this far past its budget.
pub(crate) const LOAD_STEP: usize = 16384;

/// What `luaL_loadfilex` skips at the start of a file before loading it:
/// a UTF-8 byte order mark, then a first line starting with `#` (a Unix
/// "shebang"), whose line break stays so that line numbers hold, unless
/// a binary chunk follows it. `chunk` holds the file's start, through the
/// byte after the first line break if there is one.
pub fn skip_file_header(chunk: &mut Vec<u8>) {
    let start = if chunk.starts_with(BOM) { BOM.len() } else { 0 };
    if chunk.get(start) != Some(&b'#') {
        chunk.drain(..start);
        return;
    }
    let Some(line_end) = chunk[start..].iter().position(|&c| c == b'\n') else {
        // Only the comment: an empty line.
        chunk.clear();
        chunk.push(b'\n');
        return;
    };
    let line_end = start + line_end;
    // A binary chunk starts with an escape (`LUA_SIGNATURE[0]`).
    let binary = chunk.get(line_end + 1) == Some(&0x1b);
    chunk.drain(..line_end + usize::from(binary));
}

impl ChunkFile {
    /// Opens file `name`, or standard input.
    fn open(vm: &mut Vm, name: Option<&str>) -> LuaResult<Self> {
        let source = match name {
            Some(n) => match std::fs::File::open(n) {
                Ok(f) => Source::File(f),
                Err(e) => return Err(file_error(vm, "open", name, &e)),
            },
            None => Source::Stdin(std::io::stdin()),
        };
        Ok(ChunkFile {
            source,
            name: name.map(str::to_owned),
            head: Head::Start,
            ..ChunkFile::default()
        })
    }

    /// The chunk name: `@name`, or `=stdin`.
    fn chunkname(&self) -> String {
        match &self.name {
            Some(n) => format!("@{n}"),
            None => "=stdin".to_owned(),
        }
    }

    /// Up to [`FILE_PIECE`] bytes read, empty at the end of the file.
    fn read(&mut self) -> std::io::Result<Vec<u8>> {
        let mut piece = Vec::new();
        let limit = FILE_PIECE as u64;
        match &mut self.source {
            Source::File(f) => f.take(limit).read_to_end(&mut piece)?,
            Source::Stdin(s) => s.take(limit).read_to_end(&mut piece)?,
            Source::Closed => 0,
        };
        Ok(piece)
    }

    /// The next piece of the chunk, the header skipped.
    fn next_piece(&mut self) -> std::io::Result<Piece> {
        match self.head {
            Head::Done => {
                let piece = self.read()?;
                if piece.is_empty() {
                    self.source = Source::Closed;
                    return Ok(Piece::End);
                }
                Ok(Piece::Text(piece))
            }
            Head::Start => {
                let head = self.read()?;
                let start = if head.starts_with(BOM) { BOM.len() } else { 0 };
                if head.get(start) == Some(&b'#') && !head.contains(&b'\n') {
                    // A first line longer than a piece: skipped as read.
                    self.head = Head::Comment;
                    return Ok(Piece::Skipped(head.len()));
                }
                self.head_end(head)
            }
            Head::Comment => {
                let more = self.read()?;
                if more.is_empty() {
                    // The file is its first line.
                    self.head = Head::Done;
                    return Ok(Piece::Text(b"\n".to_vec()));
                }
                if !more.contains(&b'\n') {
                    return Ok(Piece::Skipped(more.len()));
                }
                let mut head = more;
                head.insert(0, b'#');
                self.head_end(head)
            }
        }
    }

    /// The piece holding the end of the header (or no header): the byte
    /// after a first line's break decides whether the break stays, so it
    /// is read if need be.
    fn head_end(&mut self, mut head: Vec<u8>) -> std::io::Result<Piece> {
        self.head = Head::Done;
        let start = if head.starts_with(BOM) { BOM.len() } else { 0 };
        if head.get(start) == Some(&b'#') && head.ends_with(b"\n") {
            head.extend(self.read()?);
        }
        skip_file_header(&mut head);
        Ok(Piece::Text(head))
    }
}

/// "cannot open NAME: reason" (or "read"), NAME "stdin" when `None`.
fn file_error(vm: &mut Vm, what: &str, name: Option<&str>, e: &std::io::Error) -> LuaError {
    let shown = name.unwrap_or("stdin");
    let reason = crate::auxlib::os_error_text(e);
    crate::base::plain_error(vm, &format!("cannot {what} {shown}: {reason}"))
}

/// A piece of a file's chunk ([`ChunkFile::next_piece`]).
enum Piece {
    /// Text to load (empty once: a file that ends in its header).
    Text(Vec<u8>),
    /// Part of a long first line, skipped: this many bytes.
    Skipped(usize),
    /// The end of the file.
    End,
}

/// A file whose chunk is being read (`LoadF`): its source, its name (none
/// for standard input), and how far its header is skipped. Kept in a
/// userdata on the loading native's frame between slices (a closed file,
/// the default, is left there while a step works on it).
#[derive(Default)]
pub(crate) struct ChunkFile {
    source: Source,
    name: Option<String>,
    head: Head,
    /// The last piece read, loaded up to `fed`.
    text: Vec<u8>,
    fed: usize,
}

/// Where a chunk file's bytes come from.
#[derive(Default)]
enum Source {
    File(std::fs::File),
    Stdin(std::io::Stdin),
    /// Read to its end, or taken out of its userdata.
    #[default]
    Closed,
}

/// How far a file's header is skipped.
#[derive(Clone, Copy, Default)]
enum Head {
    /// Nothing read yet.
    Start,
    /// Inside a first line starting with `#`, longer than a piece.
    Comment,
    /// The header is behind.
    #[default]
    Done,
}
