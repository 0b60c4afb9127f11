package controlplane

// The helpers of this package's tests, for the tests of package
// controlplane_test, which also use package authzwebhook (itself an importer
// of this package).
var (
	RequireBinaries = requireBinaries
	StartForTest    = startForTest
)
