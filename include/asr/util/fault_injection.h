#pragma once
// Fault injection for the fault tests (tests/e2e/faults/, tests/train): named points in the code
// where a test can make a real failure happen at an exact moment. Always compiled; with the
// variable unset a point costs one branch on a flag read once.
//
//   ASR_FAULT_INJECT=<point>:<action>[@<n>][,<point>:<action>[@<n>]...]
//
// `@n` fires on the n-th time the process reaches that point only (1-based); without it, every
// time. Actions:
//   kill    raise(SIGKILL) here (a crash at the worst moment: nothing is cleaned up)
//   enospc  throw the asr::Error a full disk gives ("<file>: No space left on device")
//   eio     throw the asr::Error an I/O error gives ("<file>: Input/output error")
//   nan     point() returns true: the caller poisons its data (e.g. a batch's features)
// Under mpirun every rank inherits the variable; a test wanting one rank sets it in that rank
// only (e.g. from OMPI_COMM_WORLD_RANK in a wrapper).
//
// Points placed:
//   checkpoint.after_state_written  state.h5 is in the temporary folder, the other files are not
//   checkpoint.before_rename        the temporary folder is complete and fsynced, not yet renamed
//   checkpoint.before_latest        the step folder is in place, `latest` still names the old one
//   trainer.batch                   a training batch was loaded (nan: its features become NaN)
#include <string>

namespace asr::fault {

// Reaches the point `name`; `file` names what is being written there (for enospc/eio messages).
// Returns true when the caller must poison its data (action nan).
bool point(const char* name, const std::string& file = {});

// Whether ASR_FAULT_INJECT named any point (the trainer logs it, so a test run is never mistaken
// for a real one).
bool enabled();

}  // namespace asr::fault
