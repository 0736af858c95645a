// The client commands' names and help, apart from their code: cli.ts lists them without
// loading the STS SDK, which only these commands need.

export const CLIENT_COMMANDS = ['login', 'credentials', 'logout'] as const;

export const CLIENT_HELP = `  login --gateway URL [--role KEY] [--duration S] [--profile NAME] [--device] [--sts-endpoint E]
                                sign in through the gateway (browser on this computer, or --device for a
                                code to enter elsewhere) and get STS credentials for a role
  credentials [--format aliyun-external|env] [--profile NAME]
                                print current credentials (refreshed without a browser while the gateway session lasts)
  credentials serve [--port N] [--profile NAME]
                                serve them on 127.0.0.1 for ALIBABA_CLOUD_CREDENTIALS_URI
  logout [--profile NAME | --all]   delete the cached credentials and end their refresh grants
`;

export type ClientCommand = (typeof CLIENT_COMMANDS)[number];
