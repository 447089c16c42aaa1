import { Controller } from '@nestjs/common';

/** Placeholder: being built (issue 14). */
@Controller()
export class TerminalController {}
