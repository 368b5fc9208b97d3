package main

import "errors"

func cmdDemo([]string) error  { return errors.New("demo: not built yet") }
func cmdBench([]string) error { return errors.New("bench: not built yet") }
