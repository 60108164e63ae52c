/* cli_graph.h - `caffeopt graph`: draw a network, before or after the passes. */
#ifndef CAFFEOPT_CLI_GRAPH_H
#define CAFFEOPT_CLI_GRAPH_H

/* Run `caffeopt graph` with argv[0] the command name ("caffeopt graph").
 * Returns the exit code: 0 ok, 1 error (one line on stderr), 2 usage. */
int cmd_graph(int argc, char **argv);

#endif
