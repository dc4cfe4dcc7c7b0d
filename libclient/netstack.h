#ifndef NETSTACK_H
#define NETSTACK_H
#endif
