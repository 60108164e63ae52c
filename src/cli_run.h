/* cli_run.h - the engine's subcommands of the caffeopt CLI.  Each takes
 * argc/argv from the subcommand name on (argv[0] is "caffeopt run" etc.)
 * and returns the exit code: 0 ok, 1 error (one line on stderr), 2 usage. */
#ifndef CAFFEOPT_CLI_RUN_H
#define CAFFEOPT_CLI_RUN_H

/* caffeopt run -m X.prototxt -w X.caffemodel --input [NAME=]in.npy ...
 *              [-o out.npy | --output-dir DIR] [--blob NAME]... */
int cmd_run(int argc, char **argv);

/* caffeopt verify -m A -w A -M B -W B [--input in.npy] [--mean ..]
 *                 [--input-scale S] [--samples N] [--tol T] */
int cmd_verify(int argc, char **argv);

/* caffeopt bench -m A -w A [-M B -W B] [--runs N] [--threads T] */
int cmd_bench(int argc, char **argv);

#endif
