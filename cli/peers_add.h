/* `lanswarm peers add HOST[:PORT]`: one more peer by hand in lanswarm.conf. */
#ifndef PEERS_ADD_H
#define PEERS_ADD_H

/* conf: the config file read (NULL: DIR/lanswarm.conf); argv[0] is "add".
 * The exit status. */
int cli_peers_add(const char *conf, const char *dir, int argc, char **argv);

#endif
