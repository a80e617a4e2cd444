module github.com/gatehouse-go/gatehouse/examples

go 1.26.0

require github.com/gatehouse-go/gatehouse v0.0.0

// The examples always build against the library in this repository.
replace github.com/gatehouse-go/gatehouse => ../
