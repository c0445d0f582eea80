/* main.c - wukong-sim entry point (skeleton: the HTTPS API server lands in the next commits). */
#include "sim_store.h"

#include "wk_log.h"

int main(void)
{
	struct sim_store *st = sim_store_new(1024);

	wk_log_init("wukong-sim", WK_LOG_INFO);
	sim_store_destroy(st);
	wk_die(1, "wukong-sim: the API server is not built yet");
}
