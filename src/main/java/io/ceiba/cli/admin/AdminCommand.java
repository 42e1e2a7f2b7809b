package io.ceiba.cli.admin;

import picocli.CommandLine.Command;

/** {@code ceiba admin ...}: the {@code /v1} control API from a terminal or a script. */
@Command(name = "admin", mixinStandardHelpOptions = true,
    description = {"Operate a running cluster through a control node's /v1 API.",
        "Every command takes --server URL ($CEIBA_SERVER, default http://127.0.0.1:9090), the admin token from $CEIBA_ADMIN_TOKEN "
            + "or --token-file FILE (else ./data/admin-token), and --json for the API's JSON instead of a table."},
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:done", "1:the API refused (its error code is printed)", "2:usage error (options, token, files)",
        "3:the server is unreachable or did not answer in time", "4:a registry change did not reach every node"},
    subcommands = {PlansCommand.class, ProjectsCommand.class, SubscriptionsCommand.class, KeysCommand.class, UsageCommand.class,
        RegistryCommands.class, AdminClusterCommand.class, CompletionCommand.class})
public final class AdminCommand extends AdminGroup {
}
