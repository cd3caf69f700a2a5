module github.com/certwright/certwright/examples

go 1.25.0

require github.com/certwright/certwright v0.0.0

replace github.com/certwright/certwright => ../
