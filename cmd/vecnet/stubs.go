package main

import "errors"

func cmdBench([]string) error { return errors.New("bench: not built yet") }
