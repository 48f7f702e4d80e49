/**
 * The V8 flags iced-x86's WebAssembly is compiled under (`--liftoff-only`: emulator/iced.ts says
 * why). A module of its own because src/exec-bundle.ts sets them too, before it compiles the exec
 * bundle: V8 keeps a hash of its flags in a code cache and refuses the cache when the flags
 * differ, and these are set by the time a run that loaded iced-x86 writes its cache.
 */
export const ICED_V8_FLAGS = '--liftoff-only';
