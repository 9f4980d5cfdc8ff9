package workflow

// DefaultVersion is the version GetVersion returns for runs that reached
// the change before it was made.
const DefaultVersion = -1

// GetVersion lets a workflow change while runs of it are in flight. Guard
// the changed code with the version GetVersion returns for changeID: runs
// that reach the call for the first time get maxSupported (and it is
// recorded); runs that passed this point before the change get
// DefaultVersion on replay; later calls with the same changeID return the
// same version. A recorded version outside [minSupported, maxSupported]
// stops the run with a non-determinism error.
func GetVersion(ctx Context, changeID string, minSupported, maxSupported int) int {
	if minSupported > maxSupported {
		panic("workflow.GetVersion: minSupported > maxSupported")
	}
	return envOf(ctx).GetVersion(changeID, minSupported, maxSupported)
}
