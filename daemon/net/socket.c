/* socket.c: being written (issue: sockets for real programs). */
